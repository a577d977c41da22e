import type { Engine } from '../engine.js';

/** The engine's event log: what happened to containers, images and networks, for `events` and the API's /events. */
export class EventService {
  constructor(private readonly engine: Engine) {}
}
