// The environment for npm (and tools that call npm) started by one of our scripts. `npm test` and
// `npm run ...` run the scripts with npm's own lifecycle variables (npm_config_local_prefix=<the
// workspace>, npm_package_*, ...), which would point a child npm back into the workspace; only
// the user's real configuration is kept.

/** Configuration the user set, which child npm processes must keep seeing. */
const USER_CONFIG = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile', 'npm_config_registry']);

/** `process.env` without npm's lifecycle variables, plus `extra`. */
export function userNpmEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') || USER_CONFIG.has(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: 'false', NO_COLOR: '1', ...extra };
}
