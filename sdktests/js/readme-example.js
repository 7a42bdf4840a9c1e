// Push a data file to ensmock with the official Node client (npm install @alicloud/pop-core).
const RPCClient = require('@alicloud/pop-core');

const client = new RPCClient({
  endpoint: process.env.ENS_ENDPOINT || 'http://127.0.0.1:8080',
  accessKeyId: 'testid',
  accessKeySecret: 'testsecret',
  apiVersion: '2017-11-10',
});

async function main() {
  const data = [{ name: 'app01', version: '1.0', size: 100, archiveType: 'tar.gz', md5: '', url: 'http://example.com/app01.tar.gz' }];
  const push = await client.request('PushApplicationData', {
    AppId: 'e76f8985-7965-41fc-925b-9648bb6bf650',
    Data: JSON.stringify(data),
  }, { method: 'POST' });
  const [result] = push.PushResults.PushResult;
  console.log(`${result.Name} ${result.Version}: ResultCode ${result.ResultCode}`); // app01 1.0: ResultCode 0

  try {
    await client.request('PushApplicationData', { AppId: 'e76f8985-7965-41fc-925b-9648bb6bf650', Data: '[{' }, { method: 'POST' });
  } catch (err) {
    console.log(`refused: ${err.code}`); // refused: InvalidParameter.Data
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
