import { StackLensError } from '../common/errors';

/** The benchmark could not complete: a phase timed out, or the pipeline process failed. */
export class BenchError extends StackLensError {}
