"use strict";exports.id=1;exports.render=()=>"<h1>inforum</h1>";
