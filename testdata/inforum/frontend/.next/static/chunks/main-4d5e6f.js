(self.webpackChunk=self.webpackChunk||[]).push([[179],{}]);
