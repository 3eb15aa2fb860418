// RemoteSession's worker (as out/engine-worker.cjs runs it) plus one promise rejection nobody handles,
// soon after it starts: the engine must log it and keep running (engine-remote-session.test.ts).
require('../../out/engine.cjs').runEngineWorker()
setTimeout(() => void Promise.reject(new Error('a stray rejection (test)')), 300)
