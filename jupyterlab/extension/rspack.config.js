// Merged by @jupyter/builder into its build of the prebuilt (federated) extension: the panel is
// TypeScript (with the repo's src/core), compiled by rspack's own SWC loader.
module.exports = {
  module: {
    rules: [
      {
        test: /\.ts$/,
        exclude: /node_modules/,
        loader: 'builtin:swc-loader',
        options: { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } },
        type: 'javascript/auto',
      },
    ],
  },
  resolve: { extensions: ['.ts', '.js'] },
};
