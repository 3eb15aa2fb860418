// The Mesh view's graph: our links with path/RTT/fault, reported links drawn once, bounded node count.
import assert from 'node:assert/strict'
import type { PeerSnapshot } from '../../src/core/session/session'
import { MAX_NODES, meshGraph } from '../../src/extension/views/mesh-model'

const id = (c: string) => c.repeat(64)
const SELF = id('e')
const peer = (over: Partial<PeerSnapshot>): Omit<PeerSnapshot, 'docs'> => ({ endpointId: id('a'), state: 'connected', bytesIn: 0, bytesOut: 0, source: 'mdns', ...over }) as Omit<PeerSnapshot, 'docs'>

describe('mesh graph', () => {
  it('this session, its peers and their reported links; each link once; faults and RTT on our edges', () => {
    const graph = meshGraph({
      endpointId: SELF,
      peerName: 'me',
      bundleId: 'build-1',
      peers: [
        peer({ endpointId: id('a'), name: 'ana', path: { kind: 'direct', remoteAddr: '10.0.0.2:1', rttMs: 3.26 }, fault: { kind: 'delay', label: 'delay 200 ms', dropped: 0, delayed: 4 } as never, links: [{ id: SELF, path: 'direct' }, { id: id('b'), path: 'direct', rttMs: 1 }, { id: id('c'), path: 'relay' }] }),
        peer({ endpointId: id('b'), name: 'bo', path: { kind: 'relay', remoteAddr: 'relay', rttMs: 40 }, build: 'build-2', links: [{ id: id('a'), path: 'direct', fault: 'drop' }] }),
        peer({ endpointId: id('d'), name: 'gone', state: 'reconnecting' }),
      ],
    })
    assert.deepEqual(graph.nodes.map((n) => [n.name ?? n.id.slice(0, 1), n.direct, n.self ?? false]), [
      ['me', true, true],
      ['ana', true, false],
      ['bo', true, false],
      ['gone', true, false],
      ['c', false, false],
    ])
    assert.equal(graph.nodes.find((n) => n.name === 'bo')!.otherBuild, true)
    const ours = graph.edges.filter((e) => !e.reported)
    assert.deepEqual(ours.map((e) => [e.to.slice(0, 1), e.path, e.rttMs, e.fault]), [
      ['a', 'direct', 3.3, 'delay 200 ms'],
      ['b', 'relay', 40, undefined],
    ], 'no edge to a peer that is not connected')
    const reported = graph.edges.filter((e) => e.reported).map((e) => [e.from.slice(0, 1), e.to.slice(0, 1), e.path, e.fault])
    assert.deepEqual(reported, [
      ['a', 'b', 'direct', 'drop'],
      ['a', 'c', 'relay', undefined],
    ], "a's link to us is our own edge; b's report of b–a is the same link as a's, and the drop b reports on it shows")
  })

  it('never more than MAX_NODES nodes, whatever the reports say', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), path: 'direct' as const }))
    const graph = meshGraph({ endpointId: SELF, peerName: 'me', bundleId: 'x', peers: [peer({ links: many })] })
    assert.equal(graph.nodes.length, MAX_NODES)
    assert.ok(graph.edges.every((e) => graph.nodes.some((n) => n.id === e.to)), 'every edge ends at a drawn node')
  })
})
