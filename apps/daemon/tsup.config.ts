export { preset as default } from '../../tooling/tsup.preset.ts';
