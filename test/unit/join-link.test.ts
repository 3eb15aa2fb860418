import assert from 'node:assert/strict'
import { JOIN_PATH, joinQuery, MAX_JOIN_QUERY_CHARS, parseJoinLink } from '../../src/extension/join-link'

const TICKET = 'endpointabc123'

describe('join links', () => {
  it('round-trips a ticket and an app name through the query', () => {
    assert.deepEqual(parseJoinLink(JOIN_PATH, joinQuery(TICKET, 'My App')), { ticket: TICKET, app: 'My App' })
    assert.deepEqual(parseJoinLink(JOIN_PATH, joinQuery(TICKET)), { ticket: TICKET, app: undefined })
  })

  it('refuses other paths, missing tickets and oversized links with E_JOIN_LINK', () => {
    for (const [path, query] of [
      ['/other', joinQuery(TICKET)],
      [JOIN_PATH, ''],
      [JOIN_PATH, 'ticket=%20%20'],
      [JOIN_PATH, `ticket=${'a'.repeat(MAX_JOIN_QUERY_CHARS)}`],
    ] as const) {
      assert.throws(() => parseJoinLink(path, query), (e: Error & { code?: string }) => e.code === 'E_JOIN_LINK' && !/\n\s+at /.test(e.message))
    }
  })

  it('keeps only a short printable app name for the prompt', () => {
    const { app } = parseJoinLink(JOIN_PATH, joinQuery(TICKET, `evil\u202Ename\n<b>${'x'.repeat(200)}`))
    assert.ok(app && app.length <= 64, app)
    assert.doesNotMatch(app!, /[\u202E\n<>]/)
  })
})
