// In-process sessions on loopback for engine tests (inside the test namespace): no control socket,
// no mDNS or peer exchange unless a test asks, each in its own data dir under `dir`.
import { join } from 'node:path'
import type { LoadedBundle } from '../../src/core/bundle'
import { Session, type SessionOptions } from '../../src/core/session/session'

/** Opens and starts a session named `name`; it is pushed onto `sessions` for the test's teardown. */
export async function startTestSession(bundle: LoadedBundle, dir: string, sessions: Session[], name: string, options: Partial<SessionOptions> = {}): Promise<Session> {
  const s = await Session.open(bundle, {
    dataDir: join(dir, name),
    bindAddr: '127.0.0.1:0',
    control: false,
    peerName: name,
    discovery: { mdns: false, exchange: false },
    ...options,
  })
  sessions.push(s)
  await s.start()
  return s
}
