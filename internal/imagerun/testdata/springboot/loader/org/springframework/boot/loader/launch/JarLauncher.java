package org.springframework.boot.loader.launch;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * A launcher for an exploded Spring Boot jar, doing what Spring Boot's own
 * JarLauncher does there: the directory it was loaded from (java -cp /app) is
 * the exploded archive; its META-INF/MANIFEST.MF names the Start-Class, which
 * is loaded by a class loader over BOOT-INF/classes and every BOOT-INF/lib jar
 * (neither is on the JVM's class path).
 */
public class JarLauncher {
    public static void main(String[] args) throws Exception {
        Path root = Paths.get(JarLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Manifest mf;
        try (InputStream in = Files.newInputStream(root.resolve("META-INF/MANIFEST.MF"))) {
            mf = new Manifest(in);
        }
        Attributes a = mf.getMainAttributes();
        String start = a.getValue("Start-Class");
        if (start == null) {
            throw new IllegalStateException("no Start-Class in " + root.resolve("META-INF/MANIFEST.MF"));
        }
        String classes = a.getValue("Spring-Boot-Classes") != null ? a.getValue("Spring-Boot-Classes") : "BOOT-INF/classes/";
        String lib = a.getValue("Spring-Boot-Lib") != null ? a.getValue("Spring-Boot-Lib") : "BOOT-INF/lib/";
        List<URL> urls = new ArrayList<>();
        urls.add(root.resolve(classes).toUri().toURL());
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root.resolve(lib), "*.jar")) {
            for (Path p : ds) {
                jars.add(p);
            }
        }
        Collections.sort(jars);
        for (Path p : jars) {
            urls.add(p.toUri().toURL());
        }
        // The platform loader as parent: the application's classes come from
        // the archive, never from the launcher's class path.
        URLClassLoader cl = new URLClassLoader("boot-inf", urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Thread.currentThread().setContextClassLoader(cl);
        Method m = Class.forName(start, true, cl).getMethod("main", String[].class);
        m.invoke(null, (Object) args);
    }
}
