// An Automerge actor id as a document's history lists it: hex, an even number of digits, at most 64
// bytes. Checked wherever one comes from outside (a peer's actors frame, a webview's message, a file).
export const ACTOR_ID = /^(?:[0-9a-f]{2}){1,64}$/
