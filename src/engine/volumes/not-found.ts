import { EngineError } from '../../util/errors.js';

export class VolumeNotFoundError extends EngineError {
  constructor(readonly ref: string) {
    super(`no such volume: ${ref}`, 1);
    this.name = 'VolumeNotFoundError';
  }
}
