// tsconfig resolves modules the classic Node way ("moduleResolution": "node"), which ignores the
// package.json "exports" map that chdb uses to publish its `chdb/connection` entry point; Node itself
// honours that map at run time (and refuses the deep path `chdb/dist/connection`). This points the
// type checker at the declarations that entry point ships. Delete it if tsconfig moves to node16.
declare module 'chdb/connection' {
  export * from 'chdb/dist/connection';
}
