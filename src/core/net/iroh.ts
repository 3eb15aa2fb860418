// The one place the iroh binding is loaded at run time. Two sharp edges, both measured here:
// - the package's `main` points at a missing file and tsconfig `paths` maps the bare name to its
//   index.d.ts, which tsx then loads as an (empty) module; so load the real `index.js` by path;
// - it is CommonJS, so take values off the default export (esbuild's CJS bundle does the same).
// Types still come from the bare name (see tsconfig `paths`).
import iroh from '@number0/iroh/index.js'

export const { Endpoint, EndpointAddr, EndpointId, EndpointTicket, RelayMode, SecretKey, presetMinimal, presetN0 } =
  iroh

export type {
  BiStream,
  Connection,
  Endpoint as IrohEndpoint,
  EndpointAddr as IrohEndpointAddr,
  Incoming,
  PathSnapshot,
  RecvStream,
  SendStream,
} from '@number0/iroh'
