// A link speaks for a bounded number of other peers' presence: new origins past the budget are refused
// until the oldest one has not been heard from for the TTL; each link has its own budget.
import assert from 'node:assert/strict'
import { OriginBudget } from '../../src/core/net/origin-budget'

describe('OriginBudget', () => {
  it('admits up to max origins per link, refuses new ones after, and says the first refusal once', () => {
    const budget = new OriginBudget(3, 1000)
    for (const o of ['a', 'b', 'c']) assert.equal(budget.admit('L', o, 0), 'admitted')
    assert.equal(budget.admit('L', 'd', 10), 'first-refusal')
    assert.equal(budget.admit('L', 'e', 20), 'refused')
    assert.equal(budget.admit('L', 'a', 30), 'admitted', 'a known origin is always admitted')
    assert.equal(budget.admit('M', 'd', 30), 'admitted', 'another link has its own budget')
    assert.equal(budget.refused, 2)
  })

  it('makes room when the least recently heard origin is older than the TTL', () => {
    const budget = new OriginBudget(2, 1000)
    budget.admit('L', 'a', 0)
    budget.admit('L', 'b', 500)
    budget.admit('L', 'a', 900) // heard again: b is now the oldest
    assert.equal(budget.admit('L', 'c', 1400), 'first-refusal', 'b was heard 900 ms ago')
    assert.equal(budget.admit('L', 'c', 1501), 'admitted', 'b, unheard for the TTL, made room')
    assert.equal(budget.admit('L', 'b', 1502), 'refused', 'b was forgotten and a (heard at 900) is within the TTL')
  })

  it('forgets a link that ended', () => {
    const budget = new OriginBudget(1, 1000)
    budget.admit('L', 'a', 0)
    assert.equal(budget.admit('L', 'b', 1), 'first-refusal')
    budget.linkEnded('L')
    assert.equal(budget.admit('L', 'b', 2), 'admitted')
  })
})
