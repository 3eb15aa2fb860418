// Link reports (protocols/links): what a received frame may make us keep.
import assert from 'node:assert/strict'
import { readLinksFrame } from '../../src/core/protocols/links/reports'

const id = (n: number) => n.toString(16).padStart(64, '0')

describe('link reports: reading a peer frame', () => {
  it('a reported fault is kept only in the shapes link faults are described in', () => {
    const links = readLinksFrame({ type: 'tonk/links', links: [
      { id: id(1), path: 'direct', fault: 'drop' },
      { id: id(2), path: 'direct', fault: 'delay 200ms ±20ms' },
      { id: id(3), path: 'direct', fault: 'loss 5%' },
      { id: id(4), path: 'direct', fault: '<img src=x onerror=alert(1)>' },
      { id: id(5), path: 'direct', fault: 'delay 200ms'.repeat(10) },
    ] })
    assert.deepEqual(links.map((l) => l.fault), ['drop', 'delay 200ms ±20ms', 'loss 5%', undefined, undefined])
  })

  it('keeps well-formed links, once each, without the sender itself', () => {
    const links = readLinksFrame({ type: 'tonk/links', links: [{ id: id(1), path: 'direct', rttMs: 1.234 }, { id: id(2), path: 'relay' }, { id: id(1), path: 'relay' }, { id: id(9), path: 'direct' }] }, id(9))
    assert.deepEqual(links, [
      { id: id(1), path: 'direct', rttMs: 1.2 },
      { id: id(2), path: 'relay' },
    ])
  })

  it('drops what is not a link: bad ids, odd paths become unknown, absurd RTTs are left out', () => {
    const links = readLinksFrame({
      type: 'tonk/links',
      links: [null, 'x', { id: 'nothex' }, { id: id(0xabc).toUpperCase() }, { id: id(4), path: 'carrier-pigeon', rttMs: -1 }, { id: id(5), rttMs: Infinity }, { id: id(6), rttMs: 1e9 }],
    })
    assert.deepEqual(links, [
      { id: id(4), path: 'unknown' },
      { id: id(5), path: 'unknown' },
      { id: id(6), path: 'unknown' },
    ])
    assert.deepEqual(readLinksFrame({ type: 'tonk/pex', links: [{ id: id(1) }] }), [], 'another frame type')
    assert.deepEqual(readLinksFrame({ type: 'tonk/links', links: 'many' }), [])
  })

  it('reads at most 64 entries of a frame, whatever it holds', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: id(i + 1), path: 'direct' }))
    assert.equal(readLinksFrame({ type: 'tonk/links', links: many }).length, 64)
  })
})
