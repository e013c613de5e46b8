// For the type check only (never served): the types of uplot@1.6.32, from package.json's devDependencies.
export { default } from 'uplot';
