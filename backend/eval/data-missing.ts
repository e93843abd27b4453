// The eval's "the data folder is not there": named DataMissingError, which
// the CLI reports as could not start (exit 3, SETUP_ERRORS in cli/usage.ts).
export function dataMissing(message: string): Error {
  return Object.assign(new Error(message), { name: 'DataMissingError' });
}
