// For the type check only (never served): the types of preact@11.2.0, from package.json's devDependencies.
export * from 'preact';
