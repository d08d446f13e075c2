// The shape of a Next.js standalone server.js (output: 'standalone'): started
// as `node server.js` in the image's workdir, listening on $HOSTNAME:$PORT,
// serving public/ and .next/static/ beside it, and writing its caches under
// .next/cache. It answers with what the container it runs in is like, so a
// test proves the image's user, workdir, env and command by asking it.
const http = require('http');
const fs = require('fs');
const path = require('path');
const greet = require('greet'); // from node_modules: the dependencies layer

const port = parseInt(process.env.PORT, 10);
const hostname = process.env.HOSTNAME;
const buildId = fs.readFileSync(path.join(__dirname, '.next', 'BUILD_ID'), 'utf8').trim();

function tryWrite(file) {
  try {
    fs.writeFileSync(file, 'written by uid ' + process.getuid() + '\n');
    return 'ok:' + fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    return 'error:' + e.code;
  }
}

function sendFile(res, file) {
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(data);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://' + (req.headers.host || 'localhost'));
  if (url.pathname.startsWith('/_next/static/')) {
    sendFile(res, path.join(__dirname, '.next', 'static', path.normalize(url.pathname.slice('/_next/static/'.length))));
    return;
  }
  const pub = path.join(__dirname, 'public', path.normalize(url.pathname));
  if (url.pathname !== '/' && fs.existsSync(pub) && fs.statSync(pub).isFile()) {
    sendFile(res, pub);
    return;
  }
  const probe = 'probe-' + process.pid + '-' + Date.now();
  const body = [
    'app=next',
    'greeting=' + greet(),
    'build=' + buildId,
    'uid=' + process.getuid(),
    'gid=' + process.getgid(),
    'cwd=' + process.cwd(),
    'node_env=' + process.env.NODE_ENV,
    'listen=' + hostname + ':' + port,
    'argv=' + process.argv.slice(1).map((a) => path.relative(process.cwd(), a)).join(' '),
    // Relative to the workdir, as Next writes it.
    'cache=' + tryWrite(path.join('.next', 'cache', probe)),
    // The server's code is root's: the server cannot rewrite it.
    'appdir=' + tryWrite(path.join(__dirname, probe)),
    'method=' + req.method,
    'uri=' + req.url,
    'host=' + req.headers.host,
  ].join('\n') + '\n';
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
});

server.listen(port, hostname, () => {
  console.log('next: listening on ' + hostname + ':' + port);
});
