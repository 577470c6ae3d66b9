// The JupyterLab frontend of the e2e suite and npm start: JupyterLab's core plugins from npm, and
// the Secrets panel (jupyterlab/extension) bundled in, as a prebuilt extension would be loaded.
// scripts/jupyterLab.mjs builds it; main.py serves it.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

// Assets load from the server's static URL; set before the styles are imported.
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';

const styles = import('notebook-secrets-lab-style');

/** The plugins a module exports (an array, one plugin, or an ES module's default). */
function pluginsOf(module) {
  const exported = Object.prototype.hasOwnProperty.call(module, '__esModule')
    ? module.default
    : module;
  return Array.isArray(exported) ? exported : [exported];
}

/* global window, document */

/** Drops the language-server plugins (no server side here) and the table of contents' (not loaded). */
const withoutLsp = (module) =>
  pluginsOf(module).filter(({ id }) => !id.includes('language-server') && !id.endsWith(':toc'));

window.addEventListener('load', async () => {
  await styles;
  // The same packages as "jupyterlab.extensions" in package.json (their assets are copied).
  const extensions = await Promise.all([
    import('@jupyterlab/application-extension'),
    import('@jupyterlab/apputils-extension'),
    import('@jupyterlab/codemirror-extension'),
    import('@jupyterlab/completer-extension'),
    import('@jupyterlab/console-extension'),
    import('@jupyterlab/docmanager-extension'),
    import('@jupyterlab/documentsearch-extension'),
    import('@jupyterlab/filebrowser-extension'),
    import('@jupyterlab/launcher-extension'),
    import('@jupyterlab/mainmenu-extension'),
    import('@jupyterlab/markedparser-extension'),
    import('@jupyterlab/metadataform-extension'),
    import('@jupyterlab/notebook-extension').then(withoutLsp),
    import('@jupyterlab/rendermime-extension'),
    import('@jupyterlab/running-extension'),
    import('@jupyterlab/shortcuts-extension'),
    import('@jupyterlab/statusbar-extension'),
    import('@jupyterlab/theme-light-extension'),
    import('@jupyterlab/translation-extension'),
    import('@jupyterlab/ui-components-extension'),
    import('notebook-secrets-jupyterlab/src/index.ts'),
  ]);
  const lab = new JupyterLab();
  lab.registerPlugins(extensions.flatMap((e) => (Array.isArray(e) ? e : pluginsOf(e))));
  await lab.start();
  await lab.restored;
  document.body.dataset.notebookSecretsLab = 'ready';
});
