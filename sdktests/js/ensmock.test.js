// The official Alibaba Cloud Node clients against ensmock, as a user calls
// them: @alicloud/pop-core (V1, HMAC-SHA1) and @alicloud/openapi-client
// (V3 ACS3-HMAC-SHA256 by default, V1 with signatureAlgorithm "v2").
// Run by js_test.go, which starts a mock on 127.0.0.1 with a manual clock and
// passes its address in ENS_ENDPOINT; nothing here talks to any other address.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const RPCClient = require('@alicloud/pop-core');
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');

const endpoint = process.env.ENS_ENDPOINT;
assert.ok(endpoint, 'ENS_ENDPOINT is not set');
const url = new URL(endpoint);
assert.ok(url.hostname === '127.0.0.1' || url.hostname === '[::1]', `ENS_ENDPOINT ${endpoint} is not loopback`);

const VERSION = '2017-11-10';

// One data file per client, in its own application.
function dataOf(name) {
  return JSON.stringify([{ name, version: '1.0', size: 100, archiveType: 'tar.gz', md5: '', url: `http://example.com/${name}.tar.gz` }]);
}

// advance moves the mock's manual clock through the control plane.
async function advance(by) {
  const res = await fetch(`${endpoint}/_ensmock/clock/advance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ by }),
    signal: AbortSignal.timeout(10000),
  });
  assert.equal(res.status, 200, `advance ${by}: ${await res.text()}`);
}

// A client as the tests use it: call(action, params, method) resolves to the
// response body or rejects with the client's own error object.
function popCore(id, secret) {
  const client = new RPCClient({ endpoint, accessKeyId: id, accessKeySecret: secret, apiVersion: VERSION });
  return (action, params, method) => client.request(action, params, { method, timeout: 10000 });
}

function openApi(id, secret, signatureAlgorithm) {
  const config = new OpenApi.Config({ accessKeyId: id, accessKeySecret: secret, endpoint: url.host, protocol: 'http' });
  if (signatureAlgorithm) {
    config.signatureAlgorithm = signatureAlgorithm;
  }
  const client = new OpenApi.default(config);
  return async (action, params, method) => {
    const query = {};
    const body = {};
    for (const [k, v] of Object.entries(params)) {
      // PushApplicationData's Data goes in a form body (signed content-type), the rest in the query.
      (k === 'Data' ? body : query)[k] = String(v);
    }
    const req = new OpenApi.OpenApiRequest({ query });
    if (Object.keys(body).length > 0) {
      req.body = body;
    }
    const p = new OpenApi.Params({
      action, version: VERSION, protocol: 'HTTP', pathname: '/', method, authType: 'AK', style: 'RPC',
      reqBodyType: 'formData', bodyType: 'json',
    });
    const res = await client.callApi(p, req, new Util.RuntimeOptions({ readTimeout: 10000, connectTimeout: 10000 }));
    assert.equal(res.statusCode, 200);
    return res.body;
  };
}

const clients = [
  { name: 'pop-core (V1)', make: popCore },
  { name: 'openapi-client (V3)', make: (id, secret) => openApi(id, secret) },
  { name: 'openapi-client (V1)', make: (id, secret) => openApi(id, secret, 'v2') },
];

test('the manual clock is days ahead of the machine: signatures still pass', async () => {
  await advance('72h');
});

for (const { name, make } of clients) {
  test(name, async (t) => {
    const call = make('testid', 'testsecret');
    const appId = crypto.randomUUID();
    const file = `js-${crypto.randomBytes(4).toString('hex')}`;
    const push = () => call('PushApplicationData', { AppId: appId, Data: dataOf(file) }, 'POST');

    await t.test('push', async () => {
      const res = await push();
      assert.match(res.RequestId, /^[0-9A-F-]{36}$/);
      const [r] = res.PushResults.PushResult;
      assert.deepEqual([r.Name, r.Version, Number(r.ResultCode)], [file, '1.0', 0]);
    });

    await t.test('repeat', async () => {
      let [r] = (await push()).PushResults.PushResult;
      assert.equal(Number(r.ResultCode), 200, 'still pushing: the mock clock has not moved');
      await advance('1m');
      [r] = (await push()).PushResults.PushResult;
      assert.equal(Number(r.ResultCode), 100, 'every file server holds it');
    });

    await t.test('describe', async () => {
      const res = await call('DescribeDataPushResult', { AppId: appId }, 'POST');
      assert.equal(Number(res.TotalCount), 1);
      const [r] = res.PushResults.PushResult;
      assert.equal(r.Name, file);
      const [stat] = r.StatusStatS.StatusStat;
      assert.equal(stat.Status, 'SUCCESS');
      assert.ok(Number(stat.RegionIdCount) > 0);
    });

    await t.test('download URL', async () => {
      const res = await call('DescribeDataDownloadURL', { AppId: appId, DataName: file, DataVersion: '1.0' }, 'GET');
      assert.ok(res.Data.Url.startsWith('/file/'), res.Data.Url);
      assert.ok(res.Data.ServerList.length > 0);
      const host = res.Data.ServerList[0].Host;
      assert.equal(host, url.host, 'the link points at the mock');
      const got = await fetch(`http://${host}${res.Data.Url}`, { signal: AbortSignal.timeout(10000) });
      assert.equal(got.status, 200);
      assert.equal((await got.arrayBuffer()).byteLength, 100);
    });

    await t.test('NoPermission', async () => {
      const denied = make('denied-id', 'denied-secret');
      await assert.rejects(denied('PushApplicationData', { AppId: appId, Data: dataOf(`${file}-denied`) }, 'POST'),
        (err) => err.code === 'NoPermission' && /Permission denied/.test(err.message));
    });

    await t.test('SignatureDoesNotMatch', async () => {
      const wrong = make('testid', 'not-the-secret');
      await assert.rejects(wrong('DescribeDataPushResult', { AppId: appId }, 'POST'),
        (err) => err.code === 'SignatureDoesNotMatch' && /server string to sign is/.test(err.message));
    });

    await t.test('InvalidParameter.Data', async () => {
      await assert.rejects(call('PushApplicationData', { AppId: appId, Data: '[{' }, 'POST'),
        (err) => err.code === 'InvalidParameter.Data' && /The specified field Data invalid/.test(err.message));
    });
  });
}
