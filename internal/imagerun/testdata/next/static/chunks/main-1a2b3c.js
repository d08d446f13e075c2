console.log("chunk main");
