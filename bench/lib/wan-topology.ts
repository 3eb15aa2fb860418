// Two peers that can reach each other only through a middle host: A —link 1— M —link 2— B, two /24s and
// no forwarding in M (a new namespace starts with ip_forward 0). Whatever addresses iroh learns and
// tries, the only path between A and B is a program on M (the UDP delay relay). A TestNetwork bridge
// would not do: iroh finds the direct path there within a second and leaves the relay.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Host } from '../../test/helpers/netns'

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })

export interface WanTopology {
  a: Host
  b: Host
  /** The middle host; `towardA`/`towardB` are its addresses on each link. */
  middle: Host & { towardA: string; towardB: string }
  destroy(): void
}

export function wanTopology(subnet = 150 + Math.floor(Math.random() * 40)): WanTopology {
  const tag = randomBytes(3).toString('hex')
  const names = { a: `tonk-wa-${tag}`, b: `tonk-wb-${tag}`, m: `tonk-wm-${tag}` }
  const destroy = () => {
    for (const n of Object.values(names)) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' })
  }
  process.once('exit', destroy)
  try {
    for (const n of Object.values(names)) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    const link = (end: string, endAddr: string, mid: string, midAddr: string, ifEnd: string, ifMid: string) => {
      ip('-n', end, 'link', 'add', ifEnd, 'type', 'veth', 'peer', 'name', ifMid, 'netns', mid)
      ip('-n', end, 'addr', 'add', `${endAddr}/24`, 'dev', ifEnd)
      ip('-n', mid, 'addr', 'add', `${midAddr}/24`, 'dev', ifMid)
      ip('-n', end, 'link', 'set', ifEnd, 'up')
      ip('-n', mid, 'link', 'set', ifMid, 'up')
    }
    const [aAddr, mA, bAddr, mB] = [`10.97.${subnet}.1`, `10.97.${subnet}.2`, `10.97.${subnet + 50}.1`, `10.97.${subnet + 50}.2`]
    link(names.a, aAddr, names.m, mA, 'eth0', 'toa')
    link(names.b, bAddr, names.m, mB, 'eth0', 'tob')
    const host = (name: string, address: string): Host => ({ name, address, exec: ['ip', 'netns', 'exec', name] })
    return { a: host(names.a, aAddr), b: host(names.b, bAddr), middle: { ...host(names.m, mB), towardA: mA, towardB: mB }, destroy }
  } catch (err) {
    destroy()
    throw err
  }
}
