import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { networkInterfaces } from '../helpers/ensure-isolated'

describe('network isolation', () => {
  it('runs the test suite in a network namespace whose only interface is lo', () => {
    assert.deepEqual(networkInterfaces(), ['lo'])
    // Same answer from iproute2, which asks the kernel over netlink rather than /proc.
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]!.trim())
    assert.deepEqual(links, ['lo'])
  })

  it('has no route off the machine', () => {
    const routes = execFileSync('ip', ['route', 'show'], { encoding: 'utf8' }).trim()
    assert.equal(routes, '', `unexpected routes: ${routes}`)
  })
})
