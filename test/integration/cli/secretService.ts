/**
 * gnome-keyring's Secret Service in a D-Bus session of its own, unlocked with a test password,
 * for tests of the local store in a real OS keychain (scripts/secretService.mjs; npm start's
 * JupyterLab uses the same).
 */
export {
  HAS_KEYRING,
  startSecretService,
  type SecretService,
} from '../../../scripts/secretService.mjs';
