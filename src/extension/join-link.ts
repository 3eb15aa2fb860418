// Join links: `vscode://tonk.tonk-p2p/join?ticket=…&app=…` opens this window's VS Code and asks before
// dialing the ticket. The link is input from anywhere (a chat, a web page), so it is bounded and
// checked here, and the handler (commands/join.ts) never connects without the person saying yes.
// Pure (no vscode import) so unit tests read it directly.

/** The path of a join link; anything else is not ours to act on. */
export const JOIN_PATH = '/join'
/** Tickets are a few hundred characters; a link longer than this is not one of ours. */
export const MAX_JOIN_QUERY_CHARS = 4096

export interface JoinRequest {
  ticket: string
  /** The app name the sender's session runs, for the prompt only (never trusted for anything else). */
  app?: string
}

export class JoinLinkError extends Error {
  constructor(readonly code: 'E_JOIN_LINK', message: string) {
    super(message)
  }
}

/** The query part of a join link for `ticket` (URLSearchParams encoding). */
export function joinQuery(ticket: string, app?: string): string {
  const q = new URLSearchParams({ ticket })
  if (app) q.set('app', app)
  return q.toString()
}

/** Reads a join link's path and query; throws E_JOIN_LINK with a sentence a person can act on. */
export function parseJoinLink(path: string, query: string): JoinRequest {
  if (path !== JOIN_PATH) throw new JoinLinkError('E_JOIN_LINK', `the link asks for "${path.slice(0, 40)}", which Tonk P2P does not handle`)
  if (query.length > MAX_JOIN_QUERY_CHARS) throw new JoinLinkError('E_JOIN_LINK', `the link is ${query.length} characters long, more than a ticket needs`)
  const q = new URLSearchParams(query)
  const ticket = q.get('ticket')?.trim()
  if (!ticket) throw new JoinLinkError('E_JOIN_LINK', 'the link carries no ticket')
  // Shown in a modal: printable, short.
  const app = q.get('app')?.replace(/[^\p{L}\p{N} ._@/-]/gu, '').slice(0, 64) || undefined
  return { ticket, app }
}
