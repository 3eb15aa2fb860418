// `tonk-p2p presence`: what the running peer's session sees of presence (who has the app open, what
// each shares) and what it shares itself, over the control socket. Handy to stand in for a user in a
// test or a demo: `tonk-p2p presence --data DIR --set place='"porto"'`.
import type { RunningPresence } from '../../shared/presence'
import { ControlError, type ControlHandler } from './control'

export function presenceHandlers(presence: () => RunningPresence | undefined): Record<string, ControlHandler> {
  const running = () => {
    const p = presence()
    if (!p) throw new ControlError('E_PRESENCE_OFF', 'presence starts with the session; this peer has none yet')
    return p
  }
  return {
    presence: async () => ({ mine: running().mine(), peers: running().peers() }),
    'presence.set': async ({ channel, value }: { channel: string; value?: unknown }) => {
      try {
        running().set(channel, value)
      } catch (err) {
        throw new ControlError('E_PRESENCE_VALUE', (err as Error).message)
      }
      return { mine: running().mine() }
    },
  }
}
