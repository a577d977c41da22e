/** rootlet's version: shown by `version`, `info` and the API; known to every layer. */
export const VERSION = '0.1.0';
