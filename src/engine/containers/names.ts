import { randomIndex } from '../../util/random.js';
import { EngineError } from '../../util/errors.js';

// Our own word lists: a container gets "adjective_noun" when it is not named.
const ADJECTIVES = [
  'agile', 'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'curious', 'daring',
  'eager', 'fancy', 'fond', 'gentle', 'glad', 'golden', 'happy', 'humble', 'jolly', 'keen', 'kind', 'lively',
  'lucid', 'merry', 'mellow', 'nimble', 'noble', 'patient', 'plucky', 'proud', 'quick', 'quiet', 'rapid',
  'serene', 'sharp', 'shiny', 'silent', 'snappy', 'steady', 'sunny', 'swift', 'tidy', 'upbeat', 'vivid',
  'warm', 'wise', 'witty', 'young', 'zesty',
];
const NOUNS = [
  'acorn', 'aspen', 'badger', 'beacon', 'birch', 'brook', 'canyon', 'cedar', 'comet', 'coral', 'crane',
  'delta', 'ember', 'falcon', 'fern', 'fjord', 'glacier', 'harbor', 'heron', 'island', 'juniper', 'kestrel',
  'lagoon', 'lantern', 'maple', 'meadow', 'nebula', 'orchid', 'otter', 'pebble', 'pine', 'prairie', 'quartz',
  'raven', 'reef', 'river', 'sequoia', 'sparrow', 'spruce', 'summit', 'thistle', 'tundra', 'valley',
  'walnut', 'willow', 'wren', 'yarrow', 'zephyr',
];

export function randomName(): string {
  return `${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${NOUNS[randomIndex(NOUNS.length)]}`;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A container name as Docker allows it. */
export function validateName(name: string): string {
  if (!NAME_RE.test(name)) throw new EngineError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters`);
  return name;
}
