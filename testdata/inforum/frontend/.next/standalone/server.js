// Minimal stand-in for the server.js that `next build` writes with output: 'standalone'.
const http = require('http')
const path = require('path')
const port = parseInt(process.env.PORT, 10) || 3000
const hostname = process.env.HOSTNAME || '0.0.0.0'
process.chdir(__dirname)
const buildId = require('fs').readFileSync(path.join(__dirname, '.next', 'BUILD_ID'), 'utf8')
http.createServer((req, res) => {
  res.setHeader('x-build-id', buildId)
  res.end('inforum frontend\n')
}).listen(port, hostname, () => console.log(`Ready on http://${hostname}:${port}`))
