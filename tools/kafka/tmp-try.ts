import { topicSpecs } from '@rescind/contracts';
import { KafkaBroker } from './broker';
(async () => {
  let t = Date.now();
  const b = await KafkaBroker.start({ topics: topicSpecs(), proxy: true });
  console.log('start+topics', Date.now() - t, b.brokers);
  t = Date.now(); await b.kill(); console.log('kill', Date.now() - t);
  t = Date.now(); await b.restart(); console.log('restart', Date.now() - t);
  t = Date.now(); b.pause(); b.resume(); await b.down(); await b.up();
  await b.withAdmin(async (a) => console.log((await a.listTopics()).length));
  console.log('admin after faults', Date.now() - t);
  t = Date.now(); console.log(b.logDir); await new Promise(r=>setTimeout(r,100)); process.exit(0); console.log('stop', Date.now() - t);
})();
