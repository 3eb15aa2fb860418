// Multi-host tests: hosts made of network namespaces joined by veth pairs to one bridge (in a switch
// namespace), addresses 10.99.x.y, no default route, multicast routed to eth0 for mDNS. Names are
// unique per run and everything is torn down in `destroy()` (also on process exit).
// Needs root (ip netns); `available()` says whether this process can build them.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })

export interface Host {
  name: string
  address: string
  /** argv prefix that runs a command on this host. */
  exec: string[]
}

export class TestNetwork {
  readonly hosts: Host[] = []
  private readonly switchNs: string
  private readonly tag: string
  private destroyed = false
  private readonly onExit = () => this.destroy()

  static available(): boolean {
    if (process.getuid?.() !== 0) return false
    return spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0
  }

  /** `subnet` picks 10.99.<subnet>.0/24 so concurrent networks do not share addresses. */
  constructor(count: number, subnet = Math.floor(Math.random() * 200) + 20) {
    this.tag = randomBytes(3).toString('hex')
    this.switchNs = `tonk-sw-${this.tag}`
    process.once('exit', this.onExit)
    try {
      ip('netns', 'add', this.switchNs)
      ip('-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge')
      ip('-n', this.switchNs, 'link', 'set', 'br0', 'up')
      for (let i = 1; i <= count; i++) this.addHost(i, subnet)
    } catch (err) {
      this.destroy()
      throw err
    }
  }

  private addHost(i: number, subnet: number): Host {
    const name = `tonk-h${i}-${this.tag}`
    const address = `10.99.${subnet}.${i}`
    ip('netns', 'add', name)
    ip('-n', this.switchNs, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name)
    ip('-n', this.switchNs, 'link', 'set', `p${i}`, 'master', 'br0')
    ip('-n', this.switchNs, 'link', 'set', `p${i}`, 'up')
    ip('-n', name, 'link', 'set', 'lo', 'up')
    ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    ip('-n', name, 'link', 'set', 'eth0', 'up')
    ip('-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
    const host = { name, address, exec: ['ip', 'netns', 'exec', name] }
    this.hosts.push(host)
    return host
  }

  /** Cuts a host off the bridge (link down on its switch port) or restores it. */
  setLink(host: Host, up: boolean): void {
    const i = this.hosts.indexOf(host) + 1
    ip('-n', this.switchNs, 'link', 'set', `p${i}`, up ? 'up' : 'down')
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    process.off('exit', this.onExit)
    for (const h of this.hosts) spawnSync('ip', ['netns', 'del', h.name], { stdio: 'ignore' })
    spawnSync('ip', ['netns', 'del', this.switchNs], { stdio: 'ignore' })
  }
}
