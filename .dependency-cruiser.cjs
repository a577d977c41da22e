// The layers of src (README/docs: "Layout"), checked by `npm run lint:deps`
// (scripts/test.sh runs it after the typecheck). From the bottom up:
//   src/util                                         imports nothing else of src
//   src/state, rootless, storage, runtime, image     import util and each other
//   src/engine                                       imports the layers below
//   front doors: src/cli, src/api, src/compose,     import src/util, and the
//   src/grammar (their shared flag grammar),
//   src/docker (Docker's documents they share)
//                                                    engine only through
//                                                    engine/index.ts and
//                                                    engine/context.ts
// Type-only imports are exempt from the front-door rule alone (a front door may
// name an engine type); an upward or circular import is refused even for types.

/** Lower layers, by folder. */
const lower = '^src/(state|rootless|storage|runtime|image)/';
/** Front doors: what users and other programs talk to. */
const frontDoors = '^src/(cli|compose|api|pods|grammar|docker)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes the modules one unit: load order then decides what is undefined. Move what both sides need into a module of its own.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'util-is-the-bottom',
      comment: 'src/util is the bottom layer: it imports nothing else of src.',
      severity: 'error',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'lower-layers-stay-low',
      comment: 'state, rootless, storage, runtime and image import only src/util and each other, never the engine, a front door or an entry point.',
      severity: 'error',
      from: { path: lower },
      to: { path: '^src/', pathNot: [lower, '^src/util/'] },
    },
    {
      name: 'engine-below-front-doors',
      comment: 'The engine serves every front door and so imports none of them (nor an entry point).',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: [frontDoors, '^src/(main|helper|loader)\\.ts$'] },
    },
    {
      name: 'api-is-not-the-cli',
      comment:
        'The API and the CLI are two front doors on one engine: what both need (Docker\'s documents) lives in src/docker, ' +
        'so a change to how the CLI prints cannot change what the API answers.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cli-is-not-the-api',
      comment: 'The CLI reaches the API only to start it: `system service` (src/cli/service.ts) loads the server.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/service\\.ts$' },
      to: { path: '^src/api/' },
    },
    {
      name: 'docker-documents-are-shared',
      comment: 'src/docker holds the documents both front doors serve; it imports neither of them.',
      severity: 'error',
      from: { path: '^src/docker/' },
      to: { path: '^src/(cli|api|compose|pods)/' },
    },
    {
      name: 'front-doors-use-the-contract',
      comment:
        'A front door reaches the engine only through engine/index.ts (the services) and engine/context.ts (the caller context), ' +
        'so every front door calls the same engine the same way. Types may be imported from anywhere (prefer re-exports in index.ts).',
      severity: 'error',
      from: {
        path: frontDoors,
        pathNot: [
          // Hidden commands conmon runs (the exit hook, the health timer): they are
          // the engine's own callbacks, not a front door of its users.
          '^src/cli/internal\\.ts$',
          // The error reporter: it must work when the engine cannot even open
          // (a damaged store), so it finds the runtime directory for the debug
          // log itself, from the user's identity and the store's layout.
          '^src/cli/report\\.ts$',
        ],
      },
      to: {
        path: '^src/(engine|state|rootless|storage|runtime|image)/',
        pathNot: '^src/engine/(index|context)\\.ts$',
        dependencyTypesNot: ['type-only'],
      },
    },
  ],
  // The entry points sit above everything and wire it together, so no rule
  // constrains what they import: src/main.ts starts the CLI (and tells the
  // engine where its bundle lies), src/loader.ts runs it through a code cache,
  // src/helper.ts is what runs inside the user's namespace (layer extraction).
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Count `import type` too: type-only edges are real for cycles and for
    // "never upward", and the front-door rule exempts them explicitly.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build)/' },
  },
};
