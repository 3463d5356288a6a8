import uPlot from 'uplot';
import type { Series } from './pages/services';

/** Records per second (left axis) and consumer lag (right axis) over the time the page was open. */
export function metricsChart(host: HTMLElement, data: Series): uPlot {
  return new uPlot(
    {
      width: Math.max(320, host.clientWidth),
      height: 220,
      series: [
        {},
        { label: 'records/s', stroke: '#2f6fde', width: 2, spanGaps: true },
        { label: 'consumer lag', stroke: '#d9822b', width: 2, scale: 'lag' },
      ],
      axes: [{}, { label: 'records/s' }, { side: 1, scale: 'lag', label: 'lag', grid: { show: false } }],
      scales: { x: { time: true } },
    },
    data as uPlot.AlignedData,
    host,
  );
}
