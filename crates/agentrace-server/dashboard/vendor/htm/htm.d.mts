// For the type check only (never served): the types of htm@3.1.1, from package.json's devDependencies.
export { default } from 'htm';
