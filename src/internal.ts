// Internals for netspec's own tests and bench (child processes that run the built package): built as one more
// entry of the bundle, so they share its module instances (one reaper state, one drop watcher) with
// dist/index.js. Not part of the public API and not in package.json "exports".
export { reaperInfo } from './reaper/index.js'
export { startDropHub } from './drops/hub.js'
export { DropWatcher, dropWatcher, dropWatcherInfo } from './drops/watcher.js'
export { DOCKERD_SCRIPT } from './container/engine.js'
