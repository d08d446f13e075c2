(self.webpackChunk=self.webpackChunk||[]).push([[931],{}]);
