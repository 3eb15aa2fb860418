// Two ends of a fake postMessage link (a webview and its host), delivering structured clones on the
// next tick through the same frame parser the real panels use.
import type { AdapterFrame } from '../../src/protocol/preview'
import { parseAdapterFrame } from '../../src/shared/frames'
import type { FrameChannel } from '../../src/shared/postmessage-adapter'

export interface TestChannel extends FrameChannel {
  /** Every frame this side posted, in order. */
  sent: AdapterFrame[]
  /** Delivers a raw (unvalidated) value to this side, as a hostile page could. */
  inject(raw: unknown): void
}

/** Two ends of a fake postMessage link. */
export function channelPair(): [TestChannel, TestChannel] {
  const subscribers = [new Set<(f: AdapterFrame) => void>(), new Set<(f: AdapterFrame) => void>()]
  const deliver = (to: number, raw: unknown) =>
    setTimeout(() => {
      const frame = parseAdapterFrame(raw)
      if (frame) for (const fn of subscribers[to]!) fn(frame)
    }, 0)
  const end = (me: number): TestChannel => ({
    sent: [],
    post(frame) {
      this.sent.push(frame)
      deliver(1 - me, structuredClone(frame))
    },
    subscribe(fn) {
      subscribers[me]!.add(fn)
      return () => void subscribers[me]!.delete(fn)
    },
    inject(raw) {
      deliver(me, raw)
    },
  })
  return [end(0), end(1)]
}
