// The error of fetching or unpacking a remote library: a message naming the URL and what to do.

export class LibraryError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}
