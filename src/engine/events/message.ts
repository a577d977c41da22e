import type { EngineEvent } from './log.js';

/** An event as Docker's /events sends it (and `docker events --format '{{json .}}'` prints it). */
export interface DockerEventMessage {
  /** Deprecated fields Docker still fills for container and image events. */
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  /** Seconds since the epoch. */
  time: number;
  /** Nanoseconds since the epoch (rootlet's clock gives milliseconds). */
  timeNano: number;
}

/** Docker's message for an event; its keys in Docker's order, so the JSON reads the same. */
export function dockerMessage(ev: EngineEvent): DockerEventMessage {
  const legacy = ev.type === 'container' ? { status: ev.action, id: ev.actor.id, ...(ev.actor.attributes.image !== undefined ? { from: ev.actor.attributes.image } : {}) }
    : ev.type === 'image' ? { status: ev.action, id: ev.actor.id } : {};
  return {
    ...legacy,
    Type: ev.type,
    Action: ev.action,
    Actor: { ID: ev.actor.id, Attributes: { ...ev.actor.attributes } },
    scope: 'local',
    time: Math.floor(ev.time / 1000),
    timeNano: ev.time * 1e6,
  };
}
