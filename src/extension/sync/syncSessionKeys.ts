import { SYNC_PREFIX } from '../../sync/syncState';

/** SecretStorage key of the team-server sign-in: `{"server","token","refresh"?}`. */
export const TOKEN_KEY = `${SYNC_PREFIX}token`;
