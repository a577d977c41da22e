import type { Engine } from '../engine.js';

/**
 * The networks operations every front door calls (the CLI, compose, the API
 * server, pods): one method per operation, taking a name or id and a typed
 * request, returning plain data. The CLI formats what they return.
 */
export class NetworkService {
  constructor(private readonly engine: Engine) {}
}
