import { TopologyBuilder } from '../dsl/topology-builder';
import { TopologyTestDriver } from '../testing/topology-test-driver';
import { joinWindows } from './join-windows';

function joinDriver(timeDifferenceMs: number, graceMs: number) {
  const builder = new TopologyBuilder();
  const orders = builder.stream<string, string>('orders', 'orders');
  const payments = builder.stream<string, number>('payments', 'payments');
  orders
    .join('order-payment', payments, (order, amount, key) => `${key}:${order}:${amount}`, {
      windows: joinWindows({ timeDifferenceMs, graceMs }),
    })
    .to('out', 'joined');
  const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
  return {
    driver,
    orders: driver.createInputTopic<string, string>('orders'),
    payments: driver.createInputTopic<string, number>('payments'),
    output: driver.createOutputTopic<string, string>('joined'),
    late: driver.createOutputTopic<string, unknown>(driver.lateTopic),
  };
}

describe('windowed stream-stream join', () => {
  it('joins records of the same key within the time difference, both ways, with the larger timestamp', () => {
    const { driver, orders, payments, output } = joinDriver(10, 100);
    orders.pipe('k1', 'o1', 100);
    payments.pipe('k1', 5, 110); // |110 - 100| = 10: joins
    payments.pipe('k2', 6, 105); // other key: no join
    payments.pipe('k1', 7, 89); // 11 before: no join
    orders.pipe('k1', 'o2', 95); // joins 5@110? 15 apart, no; 7@89: 6 apart, yes
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['k1', 'k1:o1:5', 110],
      ['k1', 'k1:o2:7', 95],
    ]);
    driver.close();
  });

  it('joins every pair, duplicates included', () => {
    const { driver, orders, payments, output } = joinDriver(5, 100);
    orders.pipe('k', 'a', 10);
    orders.pipe('k', 'b', 10);
    payments.pipe('k', 1, 12);
    payments.pipe('k', 2, 8);
    expect(output.readKeyValues().map((kv) => kv.value)).toEqual(['k:a:1', 'k:b:1', 'k:a:2', 'k:b:2']);
    driver.close();
  });

  it('drops no record as late: a record past its window joins what the other side still holds', () => {
    const { driver, orders, payments, output, late } = joinDriver(10, 5);
    orders.pipe('k', 'a', 100);
    payments.pipe('x', 0, 200); // join stream time 200; the orders store still holds 'a' (its own time is 100)
    payments.pipe('k', 1, 95); // far behind stream time, still within 10 of 'a': joins, as in Kafka Streams
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([['k', 'k:a:1', 100]]);
    orders.pipe('k', 'b', 190); // the orders store moves to 190: 'a' at 100 is past its retention
    payments.pipe('k', 2, 101); // would join 'a', which is no longer visible
    payments.pipe('k', 3, 185); // joins 'b'
    expect(output.readKeyValues()).toEqual([{ key: 'k', value: 'k:b:3' }]);
    expect(late.isEmpty()).toBe(true);
    driver.close();
  });

  it('evicts buffered records once past the store retention (2 x timeDifference + grace)', () => {
    const { driver, orders } = joinDriver(10, 5);
    for (let t = 0; t < 1000; t += 1) orders.pipe(`k${t}`, 'x', t);
    // Kept: t > 999 - 25.
    expect(driver.windowStore('order-payment-left-store').size()).toBe(25);
    driver.close();
  });

  it('left join: an unmatched left record is forwarded with null once its window closes, never when matched', () => {
    const builder = new TopologyBuilder();
    const orders = builder.stream<string, string>('orders', 'orders');
    const payments = builder.stream<string, number>('payments', 'payments');
    orders
      .leftJoin('order-payment', payments, (order, amount) => `${order}:${amount}`, {
        windows: joinWindows({ timeDifferenceMs: 10, graceMs: 5 }),
      })
      .to('out', 'joined');
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const output = driver.createOutputTopic<string, string>('joined');
    driver.createInputTopic<string, string>('orders').pipe('k1', 'o1', 100);
    driver.createInputTopic<string, string>('orders').pipe('k2', 'o2', 100);
    driver.createInputTopic<string, number>('payments').pipe('k2', 7, 108); // matches o2 in time
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([['k2', 'o2:7', 108]]);
    driver.createInputTopic<string, number>('payments').pipe('x', 0, 115); // 100 + 10 + 5 = 115: still open
    expect(output.isEmpty()).toBe(true);
    driver.createInputTopic<string, number>('payments').pipe('x', 0, 116); // closed: o1 unmatched
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([['k1', 'o1:null', 100]]);
    expect(driver.windowStore('order-payment-outer-left-store').size()).toBe(0);
    driver.close();
  });

  it('outer join: unmatched records of both sides, in timestamp order, right before left', () => {
    const builder = new TopologyBuilder();
    const a = builder.stream<string, string>('a', 'a');
    const b = builder.stream<string, string>('b', 'b');
    a.outerJoin('ab', b, (l, r) => `${l}+${r}`, {
      windows: joinWindows({ timeDifferenceMs: 5, graceMs: 0 }),
    }).to('out', 'joined');
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    driver.createInputTopic<string, string>('a').pipe('k', 'l1', 10);
    driver.createInputTopic<string, string>('b').pipe('k', 'r1', 3); // 7 apart: no match
    driver.createInputTopic<string, string>('b').pipe('j', 'r2', 10);
    driver.createInputTopic<string, string>('a').pipe('z', 'l2', 30); // closes everything at or before 24
    expect(
      driver
        .createOutputTopic<string, string>('joined')
        .readRecords()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['k', 'null+r1', 3],
      ['j', 'null+r2', 10],
      ['k', 'l1+null', 10],
    ]);
    driver.close();
  });

  it('joining a stream whose key was changed without repartition is refused', () => {
    const builder = new TopologyBuilder();
    const a = builder.stream<string, string>('a', 'a').selectKey('rekey', (r) => r.value);
    const b = builder.stream<string, string>('b', 'b');
    expect(() =>
      a.join('j', b, (x, y) => x + y, { windows: joinWindows({ timeDifferenceMs: 1, graceMs: 0 }) }),
    ).toThrow(/repartition/);
  });
});
