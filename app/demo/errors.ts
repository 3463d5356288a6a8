import { StackLensError } from '../../common/errors';

/** Invalid options given to the demo producers (rate, shares, phases). */
export class DemoConfigError extends StackLensError {}

/** The OpenTelemetry SDK serializer returned nothing for telemetry the SDK itself produced. */
export class TelemetryEncodingError extends StackLensError {}
