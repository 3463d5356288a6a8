/** Base class of every error StackLens raises on purpose, so callers can tell ours from the unexpected. */
export class StackLensError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
