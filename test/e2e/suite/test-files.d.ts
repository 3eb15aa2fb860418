// Generated at build time by test/e2e/esbuild-target.mjs from every test/e2e/suite/*.test.ts.
declare module 'tonk-e2e:test-files' {
  /** [file name, lazy loader] for each test file, sorted by name. */
  export const testFiles: ReadonlyArray<readonly [string, () => unknown]>
}
