// For the type check only (never served): the types of @dagrejs/dagre@3.1.3, from package.json's devDependencies.
export * from '@dagrejs/dagre';
export { default } from '@dagrejs/dagre';
