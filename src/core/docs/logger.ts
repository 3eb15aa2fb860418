// The logger src/core/docs accepts: the engine's Logger (src/core/log.ts), under the names this folder
// has used since before that file existed.
export type { Logger as DocsLogger } from '../log'
export { noopLogger as silentLogger } from '../log'
