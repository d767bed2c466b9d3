/* eslint-disable @typescript-eslint/no-require-imports -- a require hook (node -r) is CommonJS by nature */
// Runs the TypeScript sources in a child process without a build (the fault-injection suite
// starts the real service as a process): each .ts file is transpiled on require, as ts-jest does
// for the tests, without type checking (npm test type-checks first). Transpiled files are cached
// in memory only.
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: true,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
