import type { Readable } from 'node:stream';

/** What a front door asks `build` for: values, paths already absolute. */
export interface BuildRequest {
  /** The context: an absolute directory, or a tar archive (`build -`) to unpack into a temporary one. */
  context: string | Readable;
  /** The Containerfile/Dockerfile: absolute, or relative to the context (default: Containerfile, else Dockerfile, in the context). */
  file?: string;
  /** The Containerfile's text itself (`-f -`): then `file` only names it in messages. */
  fileText?: string;
  /** NAME[:TAG] each, given to the result. */
  tags?: string[];
  buildArgs?: Record<string, string>;
  /** Labels set on the result. */
  labels?: Record<string, string>;
  /** Build up to this stage (default: the last). */
  target?: string;
  noCache?: boolean;
  /** Pull every FROM image, also one that is here. */
  pull?: boolean;
  /** The RUN steps' network: `default` (rootlet's default network) or `none`. */
  network?: 'default' | 'none';
  /** --secret id=ID,src=FILE: id → absolute file. */
  secrets?: Record<string, string>;
  /** Also write the result's file system: into a directory (`local`) or a tar file (`tar`); dest absolute. */
  output?: { type: 'local' | 'tar'; dest: string };
  /** os/arch of the result; only this host's is built (no emulation). */
  platform?: string;
}

/** What a build reports as it goes; a front door renders it (the CLI as Podman prints it). */
export type BuildEvent =
  | { type: 'step'; stage: number; stages: number; n: number; total: number; text: string }
  | { type: 'cached'; id: string }
  | { type: 'done'; id: string; ms: number }
  | { type: 'tagged'; name: string };

export interface BuildResult {
  id: string;
  /** The names given, as stored. */
  tags: string[];
}
